FROM python:3.13
ENV VIRTUAL_ENV=/opt/venv
COPY requirements.txt .
COPY --link --from=pylayers-1-a / /
COPY --link --from=pylayers-1-b / /
COPY --link --from=pylayers-1-a / /
COPY --link --from=pylayers-1-b / /
COPY --link --from=pylayers-1-a / /
COPY --link --from=pylayers-1-b / /
RUN uv pip install flask
RUN uv pip install -e .
