FROM alpine:3.20
# pip install -r requirements.txt
RUN echo pip install -r requirements.txt
RUN apt-get install -y python3-pip
ONBUILD RUN pip install -r requirements.txt
CMD ["sh"]
