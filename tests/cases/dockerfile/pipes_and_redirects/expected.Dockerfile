FROM localhost:5000/python:3.13-trixie
COPY requirements.txt .
RUN python -V 2>&1 | tee /python-version.txt
COPY --link --from=pylayers-1-a / /
COPY --link --from=pylayers-1-b / /
RUN echo built > /built.txt
RUN pip install -r requirements.txt > /dev/null
RUN pip install -r requirements.txt || true
