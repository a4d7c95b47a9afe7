#!/bin/bash
#
# devstack plugin of networking-powervm: installs the package, enables the ML2
# mechanism drivers pvm_sea and pvm_sriov, writes the agents' configuration and
# starts the agents (services pvm-q-sea-agt, pvm-q-sriov-agt) against a NovaLink
# REST API given by PVM_REST_* variables, or against powervm-sim
# (PVM_SIMULATOR=True, service pvm-sim). Settings: devstack/settings.
#
# Called by stack.sh/unstack.sh/clean.sh as: plugin.sh stack pre-install|install|
# post-config|extra, unstack, clean.

_PVM_XTRACE=$(set +o | grep xtrace)
set +o xtrace

NETWORKING_POWERVM_PLUGIN_DIR=$(readlink -f "$(dirname "${BASH_SOURCE[0]}")")
NEUTRON_CONF=${NEUTRON_CONF:-/etc/neutron/neutron.conf}

function pvm_agents_enabled {
    is_service_enabled pvm-q-sea-agt || is_service_enabled pvm-q-sriov-agt
}

# install_networking_powervm - the product; with the simulator, powervm-sim too.
function install_networking_powervm {
    setup_develop "$NETWORKING_POWERVM_DIR"
    if [[ "$PVM_SIMULATOR" == "True" ]]; then
        setup_develop "$NETWORKING_POWERVM_DIR/simulator"
    fi
}

# configure_ml2_networking_powervm - add pvm_sea/pvm_sriov to [ml2] mechanism_drivers.
function configure_ml2_networking_powervm {
    local conf=/$Q_PLUGIN_CONF_FILE
    local drivers
    drivers=$(iniget "$conf" ml2 mechanism_drivers)
    local want
    for want in $(pvm_mech_drivers); do
        if [[ ",$drivers," != *",$want,"* ]]; then
            drivers=${drivers:+$drivers,}$want
        fi
    done
    iniset "$conf" ml2 mechanism_drivers "$drivers"
}

# pvm_mech_drivers - the mechanism drivers of the enabled agents.
function pvm_mech_drivers {
    local out=""
    if is_service_enabled pvm-q-sea-agt; then
        out="$PVM_SEA_MECH_DRIVER"
    fi
    if is_service_enabled pvm-q-sriov-agt; then
        out="$out $PVM_SRIOV_MECH_DRIVER"
    fi
    echo $out
}

# configure_agents_networking_powervm - write $PVM_AGENT_CONF ([agent], [powervm]).
function configure_agents_networking_powervm {
    sudo install -d -o "$STACK_USER" "$(dirname "$PVM_AGENT_CONF")"
    local host=$PVM_REST_HOST port=$PVM_REST_PORT protocol=$PVM_REST_PROTOCOL
    local user=$PVM_REST_USER password=$PVM_REST_PASSWORD
    if [[ "$PVM_SIMULATOR" == "True" ]]; then
        host=$PVM_SIM_HOST port=$PVM_SIM_PORT protocol=http
        user=$PVM_SIM_USER password=$PVM_SIM_PASSWORD
    fi
    iniset "$PVM_AGENT_CONF" agent bridge_mappings "$PVM_BRIDGE_MAPPINGS"
    iniset "$PVM_AGENT_CONF" powervm host "$host"
    iniset "$PVM_AGENT_CONF" powervm certpath "$PVM_REST_CERTPATH"
    if [[ -n "$port" ]]; then
        iniset "$PVM_AGENT_CONF" powervm port "$port"
    fi
    if [[ -n "$protocol" ]]; then
        iniset "$PVM_AGENT_CONF" powervm protocol "$protocol"
    fi
    if [[ -n "$user" ]]; then
        iniset "$PVM_AGENT_CONF" powervm username "$user"
    fi
    if [[ -n "$password" ]]; then
        iniset "$PVM_AGENT_CONF" powervm password "$password"
        chmod 600 "$PVM_AGENT_CONF"
    fi
}

# start_simulator_networking_powervm - run powervm-sim (service pvm-sim) and wait for it.
function start_simulator_networking_powervm {
    mkdir -p "$PVM_SIM_STATE_DIR"
    # The password goes by environment, never in the simulator's argv.
    run_process pvm-sim "/usr/bin/env POWERVM_SIM_PASSWORD=$PVM_SIM_PASSWORD $PVM_SIM_BINARY serve --host $PVM_SIM_HOST --port $PVM_SIM_PORT --scenario $PVM_SIM_SCENARIO --state-dir $PVM_SIM_STATE_DIR --user $PVM_SIM_USER"
    local url=http://$PVM_SIM_HOST:$PVM_SIM_PORT/rest/api/web/Logon
    if ! timeout "${SERVICE_TIMEOUT:-60}" sh -c "until curl -s -o /dev/null $url; do sleep 1; done"; then
        die $LINENO "powervm-sim did not answer on $url"
    fi
}

# start_networking_powervm - the enabled agents, against the configured REST API.
function start_networking_powervm {
    local args="--config-file $NEUTRON_CONF --config-file $PVM_AGENT_CONF"
    if is_service_enabled pvm-q-sea-agt; then
        run_process pvm-q-sea-agt "$PVM_SEA_AGENT_BINARY $args"
    fi
    if is_service_enabled pvm-q-sriov-agt; then
        run_process pvm-q-sriov-agt "$PVM_SRIOV_AGENT_BINARY $args"
    fi
}

# stop_networking_powervm - the agents, then the simulator.
function stop_networking_powervm {
    stop_process pvm-q-sea-agt
    stop_process pvm-q-sriov-agt
    if [[ "$PVM_SIMULATOR" == "True" ]]; then
        stop_process pvm-sim
    fi
}

# cleanup_networking_powervm - the agents' configuration and the simulator's state.
function cleanup_networking_powervm {
    sudo rm -f "$PVM_AGENT_CONF"
    if [[ "$PVM_SIMULATOR" == "True" ]]; then
        rm -rf "$PVM_SIM_STATE_DIR"
    fi
}

if [[ "$1" == "stack" ]]; then
    case "$2" in
        install)
            echo_summary "Installing networking-powervm"
            install_networking_powervm
            ;;
        post-config)
            echo_summary "Configuring networking-powervm"
            if is_service_enabled q-svc neutron-api; then
                configure_ml2_networking_powervm
            fi
            if pvm_agents_enabled; then
                configure_agents_networking_powervm
            fi
            ;;
        extra)
            if pvm_agents_enabled; then
                echo_summary "Starting networking-powervm"
                if [[ "$PVM_SIMULATOR" == "True" ]]; then
                    start_simulator_networking_powervm
                fi
                start_networking_powervm
            fi
            ;;
    esac
elif [[ "$1" == "unstack" ]]; then
    stop_networking_powervm
elif [[ "$1" == "clean" ]]; then
    cleanup_networking_powervm
fi

$_PVM_XTRACE
