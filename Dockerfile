# Transformer Lab on CPU, one replica (docs/DEPLOY.md says how to run several):
#   docker build -t transformer-lab .
#   docker run -p 8501:8501 -v tlab-presets:/cache transformer-lab
# The preset cache lives in /cache: mount one shared volume there on every replica, so a preset
# one replica trained is read by all (files are written atomically; read with weights_only).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    XDG_CACHE_HOME=/cache \
    TLAB_PRESET_CACHE=/cache/presets \
    TLAB_WARM_PRESETS=1

WORKDIR /app

# PyTorch's CPU wheel first, from its own index (the default wheel carries CUDA, ~2 GB more);
# requirements.txt's torch==2.13.0 is then already met by 2.13.0+cpu.
COPY requirements.txt .
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0 \
 && pip install -r requirements.txt

COPY . .
RUN useradd --create-home lab && mkdir -p /cache/presets && chown -R lab /cache /app
USER lab
VOLUME /cache

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"
CMD ["python", "-m", "streamlit", "run", "app.py", "--server.port", "8501", "--server.address", "0.0.0.0", \
     "--server.headless", "true", "--browser.gatherUsageStats", "false"]
