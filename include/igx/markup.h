#pragma once
// Escaping text for HTML and SVG (XML) documents: one function for both.

#include <string>

namespace igx {

/// Escapes & < > " ' (as &amp; &lt; &gt; &quot; &#39;), safe in HTML and XML text and attribute
/// values.
std::string escape_markup(const std::string& text);

}  // namespace igx
