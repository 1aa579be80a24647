// ContactLedger: Debian's libxml2 (libxml2-dev), for its SAX2 push parser.
#include <libxml/parser.h>
#include <libxml/SAX2.h>
