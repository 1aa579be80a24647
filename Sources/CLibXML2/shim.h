// ContactLedger: Debian's libxml2 (libxml2-dev), for its SAX2 push parser.
//
// Debian builds libxml2 with ICU, and its encoding header then includes the system's ICU headers,
// whose definitions clash with the ICU copy Foundation carries (`_FoundationICU`) in any module that
// sees both. Nothing here uses libxml2's ICU converters, and no ICU-dependent layout comes before
// what Swift reads (`xmlParserCtxt.wellFormed`, pointers otherwise), so the ICU part is left out.
#include <libxml/xmlversion.h>
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/SAX2.h>
