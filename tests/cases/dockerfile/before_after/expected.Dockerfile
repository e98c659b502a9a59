FROM python:3.13-trixie
RUN apt-get update && apt-get install -y --no-install-recommends libpq-dev gcc
COPY --link --from=pylayers-1-a / /
COPY --link --from=pylayers-1-b / /
RUN apt-get purge -y gcc && rm -rf /var/lib/apt/lists/* /tmp/requirements.txt
RUN mkdir -p /data
COPY --link --from=pylayers-1-a / /
COPY --link --from=pylayers-1-b / /
RUN rm -rf /root/.cache
RUN echo "installing ${PYTHON_VERSION}"
COPY --link --from=pylayers-1-a / /
COPY --link --from=pylayers-1-b / /
RUN rm -rf /tmp/*
RUN cd /app && pip install -r requirements.txt
RUN export PIP_INDEX_URL=https://x.example/simple && pip install -r requirements.txt
RUN pip install -U pip && pip install -r requirements.txt
