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

"""Log text helpers: exceptions on one bounded line, untrusted values cut."""

from networking_powervm.common import logtext


def test_bounded_keeps_short_values_and_cuts_long_ones():
    assert logtext.bounded('abc') == "'abc'"
    assert logtext.bounded('abc', quote=False) == 'abc'
    cut = logtext.bounded('x' * 10_000, limit=50)
    assert cut.startswith("'xxx") and cut.endswith('(10002 characters)')
    assert len(cut) < 80


def test_bounded_survives_a_failing_repr():
    class Hostile:
        def __repr__(self):
            raise RuntimeError('no')

    assert logtext.bounded(Hostile()) == '<unprintable Hostile>'


def test_error_text_is_one_bounded_line():
    text = logtext.error_text(ValueError('line one\n  line two ' + 'y' * 5000))
    assert text.startswith('ValueError: line one line two yyy')
    assert '\n' not in text and len(text) < 500
