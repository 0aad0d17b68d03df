#pragma once
// The web page igx serve answers at GET /: type a text, or drop or draw a digit, and see the
// explanation from the same :explain route as any client (token heat-map with prediction, delta,
// relative error and certified flag; a pixel heat-map for images). /?model=NAME&text=... explains
// that text on load, so that a link shows an explanation.

#include <string>

namespace igx_serve {

/// The page: one HTML document with its script and styles, no outside resources.
const std::string& page_html();

}  // namespace igx_serve
