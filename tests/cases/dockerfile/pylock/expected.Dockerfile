FROM python:3.13
WORKDIR /app
COPY pylock.toml pylock.dev.toml ./
COPY --link --from=pylayers-1-a / /
COPY --link --from=pylayers-1-b / /
COPY --link --from=pylayers-1-a / /
COPY --link --from=pylayers-1-b / /
RUN python -c "import attrs"
COPY --link --from=pylayers-1-a / /
COPY --link --from=pylayers-1-b / /
COPY --link --from=pylayers-1-a / /
COPY --link --from=pylayers-1-b / /
COPY --link --from=pylayers-1-a / /
COPY --link --from=pylayers-1-b / /
