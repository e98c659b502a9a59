FROM python:3.11
ENV POETRY_VIRTUALENVS_CREATE=false
WORKDIR /src
COPY pyproject.toml poetry.lock ./
RUN pip install poetry==2.1.3
COPY --link --from=pylayers-1-a / /
COPY --link --from=pylayers-1-b / /
COPY --link --from=pylayers-1-a / /
COPY --link --from=pylayers-1-b / /
COPY --link --from=pylayers-1-a / /
COPY --link --from=pylayers-1-b / /
COPY --link --from=pylayers-1-a / /
COPY --link --from=pylayers-1-b / /
COPY --link --from=pylayers-1-a / /
COPY --link --from=pylayers-1-b / /
RUN poetry add requests
