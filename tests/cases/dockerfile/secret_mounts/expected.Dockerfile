FROM python:3.13-slim
WORKDIR /app
COPY requirements*.txt ./
# a netrc secret: its credentials serve the step's downloads
COPY --link --from=pylayers-1-a / /
COPY --link --from=pylayers-1-b / /
# the id defaults to the target's base name; host network for an index on the host
COPY --link --from=pylayers-1-a / /
COPY --link --from=pylayers-1-b / /
# any other secret may configure pip in ways pylayers cannot see: run as written
RUN --mount=type=secret,id=pipconf,target=/etc/pip.conf pip install -r requirements-conf.txt
RUN --mount=type=secret,id=a,target=/root/.netrc --mount=type=secret,id=b,target=/home/x/.netrc pip install -r requirements-two.txt
