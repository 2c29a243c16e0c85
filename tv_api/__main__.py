from tv_api.server import serve
from tv_api.settings import TvApiSettings

serve(TvApiSettings())
