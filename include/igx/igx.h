#pragma once
// Everything of igx's library in one include.

#include "igx/baseline.h"
#include "igx/cancellation.h"
#include "igx/error.h"
#include "igx/integrated_gradients.h"
#include "igx/integrator.h"
#include "igx/model.h"
#include "igx/path.h"
#include "igx/quadrature.h"
#include "igx/runtime.h"
#include "igx/target.h"
#include "igx/tensor_checks.h"
