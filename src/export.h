/* export.h — marks the functions the WebAssembly build exports to JavaScript.
 * Natively it expands to nothing; under Emscripten it keeps the symbol and exports it. */
#ifndef DS_EXPORT_H
#define DS_EXPORT_H
#ifdef __EMSCRIPTEN__
#include <emscripten.h>
#define DS_EXPORT EMSCRIPTEN_KEEPALIVE
#else
#define DS_EXPORT
#endif
#endif
