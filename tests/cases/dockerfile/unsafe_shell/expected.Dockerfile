FROM python:3.13
RUN pip install -r requirements.txt; rm requirements.txt
RUN pip install -r requirements.txt || true
RUN pip install -r requirements.txt | tee log
RUN pip install -r requirements.txt > /dev/null
RUN pip install -r requirements.txt 2>&1
RUN pip install -r requirements.txt &
RUN pip install -r `echo r.txt`
RUN pip install -r $(echo r.txt)
RUN (pip install -r requirements.txt)
RUN pip install -r requirements.txt # with a comment
RUN pip install -r "requirements.txt
RUN echo $(date) && pip install -r requirements.txt
