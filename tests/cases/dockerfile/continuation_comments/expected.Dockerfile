FROM python:3.13
COPY --link --from=pylayers-1-a / /
COPY --link --from=pylayers-1-b / /
RUN rm -rf ~/.cache
COPY --link --from=pylayers-1-a / /
COPY --link --from=pylayers-1-b / /
LABEL a=b
