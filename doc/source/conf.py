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

"""Sphinx configuration of the networking-powervm documentation (tox -e docs)."""

from importlib import metadata

project = 'networking-powervm'
copyright = 'OpenStack Foundation and the networking-powervm authors'
release = metadata.version('networking-powervm')
version = release

extensions = [
    'oslo_config.sphinxext',
    'oslo_config.sphinxconfiggen',
    'openstackdocstheme',
]
# oslo_config.sphinxext renders the options from the same list_opts that
# oslo-config-generator uses (entry point oslo.config.opts: networking_powervm).
config_generator_config_file = [
    ('../../etc/oslo-config-generator/networking-powervm-agent.conf',
     '_static/networking-powervm-agent'),
]

openstackdocs_repo_name = 'openstack/networking-powervm'
openstackdocs_bug_project = 'networking-powervm'
openstackdocs_bug_tag = ''
openstackdocs_auto_name = False

source_suffix = {'.rst': 'restructuredtext'}
master_doc = 'index'
exclude_patterns = ['_build']
pygments_style = 'native'
html_theme = 'openstackdocs'
html_static_path = ['_static']
