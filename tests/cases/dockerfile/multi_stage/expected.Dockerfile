ARG PYTHON=3.13
FROM --platform=$BUILDPLATFORM python:${PYTHON}-slim AS Builder
WORKDIR /src
COPY requirements.txt .
COPY --link --from=pylayers-1-a / /
COPY --link --from=pylayers-1-b / /

FROM builder AS test
COPY requirements-test.txt .
COPY --link --from=pylayers-1-a / /
COPY --link --from=pylayers-1-b / /
RUN pytest -q

FROM python:${PYTHON}-slim
COPY --from=builder /usr/local /usr/local
COPY --link --from=pylayers-1-a / /
COPY --link --from=pylayers-1-b / /
CMD ["python"]
