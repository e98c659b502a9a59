FROM python:3.13-slim
ENV UV_PROJECT_ENVIRONMENT=/opt/venv
WORKDIR /app
COPY pyproject.toml uv.lock ./
COPY --link --from=pylayers-1-a / /
COPY --link --from=pylayers-1-b / /
COPY --link --from=pylayers-1-a / /
COPY --link --from=pylayers-1-b / /
RUN uv cache clean
COPY --link --from=pylayers-1-a / /
COPY --link --from=pylayers-1-b / /
COPY --link --from=pylayers-1-a / /
COPY --link --from=pylayers-1-b / /
COPY --link --from=pylayers-1-a / /
COPY --link --from=pylayers-1-b / /
COPY --link --from=pylayers-1-a / /
COPY --link --from=pylayers-1-b / /
RUN uv lock
COPY --link --from=pylayers-1-a / /
COPY --link --from=pylayers-1-b / /
COPY . .
