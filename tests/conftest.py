import socket

def free_port() -> int:
    "A TCP port on localhost that nothing listens on right now"
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]

def pytest_unconfigure(config):
    "End the run with the plain closing line CI reads: `N passed, N failed`"
    tr = config.pluginmanager.get_plugin('terminalreporter')
    if tr is None: return
    n = lambda k: len([r for r in tr.stats.get(k, []) if getattr(r, 'when', 'call') == 'call' or k == 'error'])
    line = f"{n('passed')} passed, {n('failed') + n('error')} failed"
    if tr.stats.get('skipped'): line += f", {len(tr.stats['skipped'])} skipped"
    print(line, flush=True)
