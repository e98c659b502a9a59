"""The reliability tests build on the real engine with the fixtures of tests/e2e."""

from tests.e2e.conftest import docker_client, image_name, testbed, workdir  # noqa: F401 - fixtures
