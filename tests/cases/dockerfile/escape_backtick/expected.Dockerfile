# escape=`
FROM python:3.13
COPY --link --from=pylayers-1-a / /
COPY --link --from=pylayers-1-b / /
RUN echo "a\b"
RUN pip install -r r.txt \
COPY . .
