FROM python:3.13
RUN --mount=type=cache,target=/root/.cache/pip --mount=type=tmpfs,target=/tmp mkdir -p /app
COPY --link --from=pylayers-1-a / /
COPY --link --from=pylayers-1-b / /
RUN --mount=type=cache,target=/root/.cache/pip --mount=type=tmpfs,target=/tmp echo done
COPY --link --from=pylayers-1-a / /
COPY --link --from=pylayers-1-b / /
COPY --link --from=pylayers-1-a / /
COPY --link --from=pylayers-1-b / /
RUN --mount=type=bind,source=requirements.txt,target=/tmp/requirements.txt pip install -r /tmp/requirements.txt
RUN --mount=target=/tmp/requirements.txt pip install -r /tmp/requirements.txt
RUN --mount=type=secret,id=pip,target=/etc/pip.conf pip install -r r.txt
RUN --mount=type=ssh pip install -r r.txt
RUN --mount=type=cache,type=bind,target=/x pip install -r r.txt
RUN --bogus=1 pip install -r r.txt
