// The shims are inline functions in include/CSwerveShims.h; a C target needs one source file.
#include "CSwerveShims.h"
