from tv_api.server import serve
from vv_core.settings import Settings

serve(Settings())
