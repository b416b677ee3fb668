#ifndef SWERVE_CYAML_SHIM_H
#define SWERVE_CYAML_SHIM_H
#include <yaml.h>
#endif
