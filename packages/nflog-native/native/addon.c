/* Placeholder N-API module: the netlink reader is built in issue 3. */
#include <node_api.h>

static napi_value nfl_init(napi_env env, napi_value exports) {
  (void)env;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, nfl_init)
