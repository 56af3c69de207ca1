"""``endpoint-not-allowed``: given at deploy by the engine's settings (goflow.transports.EndpointPolicy),
never by a plain load (``goflow validate`` has no settings)."""
from goflow.config import Config
from goflow.loading import load_paths, load_text
from goflow.transports import policy_from_config

from ..helpers import BASE, BASE_WORKERS, at, edit, locate, single, write

POLICY = policy_from_config(Config().with_options({"python_modules": ["shop"], "allowed_hosts": ["api.shop.example"]}))


def test_a_python_module_outside_the_allow_list():
    text = edit("python://shop:pay", "python://os:system")
    p = single(load_text(text, "bp.json", endpoints=POLICY))
    assert at(p) == ("error", "endpoint-not-allowed", "/workers/0/workerEndpoint",
                     *locate(text, '"python://os:system"'))
    assert load_text(text, "bp.json").ok                # no settings, no such rule


def test_a_host_outside_the_allowed_hosts_in_a_workers_file(tmp_path):
    head, _, _ = BASE.partition(',\n  "workers"')
    flow = write(tmp_path, "shop.flow.json", head + "\n}\n")
    workers_text = edit("python://shop:pay", "http://10.0.0.7/pay", BASE_WORKERS)
    workers = write(tmp_path, "shop.workers.json", workers_text)
    p = single(load_paths([flow, workers], endpoints=POLICY))
    assert at(p) == ("error", "endpoint-not-allowed", "/workers/0/workerEndpoint",
                     *locate(workers_text, '"http://10.0.0.7/pay"'))
    assert p.file == str(workers)
    assert load_paths([flow, workers], endpoints=policy_from_config(Config().with_options({"python_modules": ["shop"]}))).ok
