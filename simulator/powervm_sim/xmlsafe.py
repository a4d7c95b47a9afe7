# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""Parsing of request bodies: no DTDs, no entity expansion, no network access.

Every XML body the simulator reads (LogonRequest, Event, resource updates)
goes through ``parse``; a DOCTYPE is refused, as a hardened XML parser on the
real REST server refuses it, so no entity expansion can blow up memory.
"""

from __future__ import annotations

from lxml import etree


class XMLError(ValueError):
    """A body that is not acceptable XML; the message says why."""


def parse(body: bytes) -> etree._Element:
    """The root element of ``body``; XMLError for malformed XML or a DOCTYPE."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             huge_tree=False)  # one per call: parsers are not thread-safe
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as exc:
        raise XMLError(f'malformed XML: {exc}') from None
    if root is None:
        raise XMLError('malformed XML: empty document')
    if root.getroottree().docinfo.doctype:
        raise XMLError('malformed XML: DOCTYPE declarations are not allowed')
    return root
