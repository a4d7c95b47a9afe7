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

"""The Atom envelope of every document the simulator writes.

Resource entries and feeds, vNIC entries, Event entries and feeds and
HttpErrorResponse bodies are all an Atom ``<entry>`` or ``<feed>`` around one
content element, in the element order of pypowervm's captures
(pypowervm/tests/data: fake_cna.txt, event_feed.txt, fake_httperror.txt).
This module is the only place that writes that envelope.
"""

from __future__ import annotations

import datetime
import functools
import zlib
from collections.abc import Iterable
from xml.sax.saxutils import escape, quoteattr

ATOM_NS = 'http://www.w3.org/2005/Atom'
# The namespaces a stand-alone entry or a feed declares.
ATOM_DECL = (f'xmlns="{ATOM_NS}" '
             'xmlns:ns2="http://a9.com/-/spec/opensearch/1.1/" '
             'xmlns:ns3="http://www.w3.org/1999/xhtml"')
UOM_NS = 'http://www.ibm.com/xmlns/systems/power/firmware/uom/mc/2012_10/'
WEB_NS = 'http://www.ibm.com/xmlns/systems/power/firmware/web/mc/2012_10/'
AUTHOR = 'IBM Power Systems Management Console'
CONTENT_TYPE = 'application/atom+xml'


def uom_type(kind: str) -> str:
    """The content type of a UOM object, e.g. ``...uom+xml; type=NetworkBridge``."""
    return f'application/vnd.ibm.powervm.uom+xml; type={kind}'


def published_now() -> str:
    """Atom ``published``/``updated`` timestamp (UTC, milliseconds, like the API)."""
    now = datetime.datetime.now(datetime.UTC)
    return now.strftime('%Y-%m-%dT%H:%M:%S.') + f'{now.microsecond // 1000:03d}Z'


def signed_crc(text: str) -> str:
    """An etag: CRC-32 of ``text`` as a signed 32-bit decimal, like the API's etags."""
    crc = zlib.crc32(text.encode())
    return str(crc - (1 << 32) if crc >= 1 << 31 else crc)


def entry(title: str, atom_id: str, content: str, *, content_type: str | None = None,
          self_href: str | None = None, etag: str | None = None,
          standalone: bool = False) -> str:
    """An Atom ``<entry>``; ``standalone`` = the document root (declares the namespaces).

    ``content_type`` defaults to the UOM type named ``title``; an entry without
    ``self_href``/``etag`` (an HttpErrorResponse) has no SELF link/etag element.
    """
    decl = f' {ATOM_DECL}' if standalone else ''
    link = f'<link rel="SELF" href={quoteattr(self_href)}/>' if self_href else ''
    tag = (f'<etag:etag xmlns:etag="{UOM_NS}" xmlns="{UOM_NS}">{escape(etag)}</etag:etag>'
           if etag is not None else '')
    title_el, content_el = _fixed_parts(title, content_type or uom_type(title))
    return (f'<entry{decl}><id>{escape(atom_id)}</id>{title_el}'
            f'<published>{published_now()}</published>{link}'
            f'<author><name>{AUTHOR}</name></author>{tag}'
            f'{content_el}{content}</content></entry>')


@functools.lru_cache(maxsize=128)
def _fixed_parts(title: str, content_type: str) -> tuple[str, str]:
    """The ``<title>`` element and the ``<content>`` start tag (the same for every entry
    of a kind: written once, feeds of a thousand entries are frequent)."""
    return f'<title>{escape(title)}</title>', f'<content type={quoteattr(content_type)}>'


def feed(feed_id: str, self_href: str, entries: Iterable[str],
         links: Iterable[tuple[str, str]] = ()) -> str:
    """An Atom ``<feed>`` around already written (non-standalone) entries.

    ``links``: further (rel, href) links after SELF, e.g. MANAGEMENT_CONSOLE.
    """
    more = ''.join(f'<link rel={quoteattr(rel)} href={quoteattr(href)}/>' for rel, href in links)
    return (f'<feed {ATOM_DECL}><id>{escape(feed_id)}</id>'
            f'<updated>{published_now()}</updated>'
            f'<link rel="SELF" href={quoteattr(self_href)}/>{more}'
            f'<generator>{AUTHOR}</generator>{"".join(entries)}</feed>')
