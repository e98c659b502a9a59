# check=skip=JSONArgsRecommended
FROM python:3.13-slim
WORKDIR /srv
COPY requirements/ requirements/
COPY --link --from=pylayers-1-a / /
COPY --link --from=pylayers-1-b / /
COPY --link --from=pylayers-1-a / /
COPY --link --from=pylayers-1-b / /
CMD python -m app
