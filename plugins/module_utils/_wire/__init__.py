# -*- coding: utf-8 -*-
# Copyright: mt5crs maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mesh wire protocol (docs/protocol.md), its Lazy Pirate client and circuit breaker.

Its home is the runtime: ``src/mt5mesh/wire``, imported as ``mt5mesh.wire`` by the gateway, nexus
and their tests. Ansible modules can only ship code from the collection's module_utils (AnsiballZ
packs nothing else), so ``plugins/module_utils/_wire`` holds a byte-identical copy of every file
here, for the probe modules. Edit the files here and run ``make vendor`` (tools/vendor_wire.py);
``make check`` fails while the copy differs (tests/unit/test_wire_vendored.py). Each copy is
imported under one name only: no alias maps one onto the other.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type
