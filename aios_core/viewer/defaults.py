"""Where the viewer serves unless told otherwise: this machine only, port 8080."""

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
