FROM python:3.13
RUN <<EOF
pip install -r requirements.txt
RUN pip install -r not-an-instruction.txt
EOF
RUN <<-"SCRIPT" bash
	set -e
	pip install -r requirements.txt
	SCRIPT
COPY <<EOF /etc/motd
FROM scratch
EOF
COPY --link --from=pylayers-1-a / /
COPY --link --from=pylayers-1-b / /
