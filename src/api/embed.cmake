# Writes OUT, a C file holding IN's bytes as rk_api_openapi_data.
file(READ "${IN}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE "${OUT}" "/* Generated from openapi.json by embed.cmake. */\n#include \"api/internal.h\"\n"
     "const unsigned char rk_api_openapi_data[] = {${bytes} 0x00};\n"
     "const size_t rk_api_openapi_size = sizeof(rk_api_openapi_data) - 1;\n")
