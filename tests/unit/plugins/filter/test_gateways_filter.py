"""The gateways filter on plain hostvars: inventory order, names, addresses and the nexus ports
each instance gets (the one place that numbers them)."""
from ansible_collections.mt5crs.mesh.plugins.filter.gateways import FilterModule, gateways


def test_each_gateway_in_inventory_order_gets_its_name_address_and_the_next_ports():
    hostvars = {"gtw.lab": {"ansible_host": "10.0.0.12", "gateway_broker_trading": True, "mesh_curve_server_public_key": "K" * 40},
                "gtw2.lab": {"ansible_host": "10.0.0.22", "gateway_dialect": "action", "gateway_action_ping": "PING"}}
    assert gateways(["gtw.lab", "gtw2.lab"], hostvars) == [
        {"host": "gtw.lab", "name": "gtw", "address": "10.0.0.12", "nexus_health_port": 9110,
         "nexus_health_url": "http://127.0.0.1:9110/healthz", "nexus_xpub_port": 5558, "trading": True,
         "dialect": "mt5mesh", "action_ping": "HEARTBEAT", "curve_public_key": "K" * 40},
        {"host": "gtw2.lab", "name": "gtw2", "address": "10.0.0.22", "nexus_health_port": 9111,
         "nexus_health_url": "http://127.0.0.1:9111/healthz", "nexus_xpub_port": 5559, "trading": False,
         "dialect": "action", "action_ping": "PING", "curve_public_key": ""}]


def test_host_vars_pin_the_name_address_and_ports():
    hostvars = {"a": {"mesh_gateway_name": "broker_a", "gateway_broker_bind_address": "10.1.1.1", "ansible_host": "x",
                      "mesh_nexus_health_port": 9200, "mesh_nexus_xpub_port": 6000}, "b.example.com": {}}
    first, second = gateways(["a", "b.example.com"], hostvars)
    assert (first["name"], first["address"], first["nexus_health_url"], first["nexus_xpub_port"]) == (
        "broker_a", "10.1.1.1", "http://127.0.0.1:9200/healthz", 6000)
    assert (second["name"], second["address"], second["nexus_health_port"]) == ("b", "b.example.com", 9111)


def test_no_gateway_group_is_no_gateway():
    assert gateways(None, {}) == [] and gateways([], {}) == []
    assert FilterModule().filters() == {"gateways": gateways}
