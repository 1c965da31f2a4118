// A Podium layout (@podium/layout 5) composing N podlets into one page, on a plain Node
// HTTP server: the Podium side of scenarios B and C of benches/load/run.sh.
//
//   node layout.js --podlets http://127.0.0.1:P/ --count N --timeout 1000 [--port 0]
//
// Podlet i's manifest is at <base>f<i>/manifest.json (benches/load/podium/podlet.js, or
// `bench_producer --podium`). Each page fetches every podlet concurrently with the client
// timeout `--timeout` (the same deadline as Cartable's remote calls) and stitches them
// into one document. The first line on stdout is the layout's URL.
import http from 'node:http';
import Layout from '@podium/layout';
import { HttpIncoming } from '@podium/utils';

const args = process.argv.slice(2);
let port = 0;
let count = 1;
let timeout = 1000;
let base = 'http://127.0.0.1:7100/';
for (let i = 0; i < args.length; i += 2) {
    const [flag, value] = [args[i], args[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--port') port = Number(value);
    else if (flag === '--count') count = Number(value);
    else if (flag === '--timeout') timeout = Number(value);
    else if (flag === '--podlets') base = value;
    else throw new Error(`unknown option ${flag}`);
}

const layout = new Layout({
    name: 'benchLayout',
    pathname: '/',
    client: { timeout },
});
const podlets = [];
for (let i = 0; i < count; i += 1) {
    podlets.push(
        layout.client.register({
            name: `f${i}`,
            uri: new URL(`f${i}/manifest.json`, base).href,
            timeout,
        }),
    );
}

const server = http.createServer(async (req, res) => {
    try {
        const incoming = new HttpIncoming(req, res, {});
        incoming.url = new URL(req.url, `http://${req.headers.host}`);
        const processed = await layout.process(incoming);
        if (processed.proxy) return;
        const fragments = await Promise.all(podlets.map((p) => p.fetch(incoming)));
        incoming.podlets = fragments;
        const body = fragments
            .map((f, i) => `<section class="window" id="w-f${i}">${f.content}</section>`)
            .join('\n');
        incoming.view = { title: 'Accueil' };
        const page = layout.render(incoming, body);
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(page);
    } catch (error) {
        res.writeHead(500).end(String(error));
    }
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => {
    console.log(`http://127.0.0.1:${server.address().port}/`);
});
process.on('SIGTERM', () => process.exit(0));
