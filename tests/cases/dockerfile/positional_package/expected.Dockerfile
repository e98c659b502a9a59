FROM python:3.13
RUN pip install flask -r requirements.txt
RUN pip install gunicorn
RUN pip install -r requirements.txt -e .
RUN pip install -r requirements.txt --target /deps
RUN pip install -r requirements.txt --prefix=/install
RUN pip install -r requirements.txt --no-index -f /wheels
RUN pip install -r requirements.txt --no-binary :all:
RUN pip install -r requirements.txt --unknown-flag
RUN pip install --req requirements.txt
RUN pip install -r $REQUIREMENTS
RUN pip install -r requirements/*.txt
RUN PIP_NO_CACHE_DIR=1 pip install -r requirements.txt
RUN sudo pip install -r requirements.txt
RUN ./venv/bin/pip install -r requirements.txt
RUN pip --quiet install -r requirements.txt
