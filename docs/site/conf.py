# Copyright (c) Ansible Project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Created with antsibull-docs 2.28.0

# This file only contains a selection of the most common options. For a full list see the
# documentation:
# http://www.sphinx-doc.org/en/master/config

project = 'mt5crs.mesh'
copyright = 'mt5crs maintainers'

title = 'mt5crs.mesh documentation'
html_short_title = 'mt5crs.mesh documentation'

extensions = ['sphinx.ext.autodoc', 'sphinx.ext.intersphinx', 'sphinx_antsibull_ext']

pygments_style = 'ansible'

highlight_language = 'YAML+Jinja'

html_theme = 'sphinx_ansible_theme'
html_show_sphinx = False

display_version = False

html_use_smartypants = True
html_use_modindex = False
html_use_index = False
html_copy_source = False

# Offline build (make docs runs with no internet): no intersphinx inventories. The few labels
# of the Ansible docs our pages use are stubs in refs.rst, linking to the real pages.
intersphinx_mapping = {}

default_role = 'any'

nitpicky = True
