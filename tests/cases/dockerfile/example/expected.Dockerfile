FROM localhost:5000/python:3.13-trixie
WORKDIR /app
# Requirements are installed here to ensure they will be cached.
COPY ./requirements /requirements
COPY --link --from=pylayers-1-a / /
COPY --link --from=pylayers-1-b / /
RUN rm -rf /requirements
COPY . /app
CMD ["gunicorn", "app:application"]
