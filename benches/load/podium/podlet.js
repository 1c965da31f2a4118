// N Podium podlets (@podium/podlet 5) in one Node process, on one port: podlet `fN` has its
// manifest at /fN/manifest.json and its content at /fN/content. Every podlet sends the
// same fragment (benches/load/fragment.html), like the Cartable producer of
// examples/bench_producer.rs.
//
//   node podlet.js --count 5 --fragment ../fragment.html [--port 0] [--delay f0=500] [--hang f1]
//
// The first line on stdout is the base URL, e.g. http://127.0.0.1:40123/
import http from 'node:http';
import { readFileSync } from 'node:fs';
import Podlet from '@podium/podlet';
import { HttpIncoming } from '@podium/utils';

const args = process.argv.slice(2);
let port = 0;
let count = 1;
let fragmentFile = new URL('../fragment.html', import.meta.url);
const delays = new Map();
const hung = new Set();
for (let i = 0; i < args.length; i += 2) {
    const [flag, value] = [args[i], args[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--port') port = Number(value);
    else if (flag === '--count') count = Number(value);
    else if (flag === '--fragment') fragmentFile = value;
    else if (flag === '--delay') {
        const [id, ms] = value.split('=');
        delays.set(id, Number(ms));
    } else if (flag === '--hang') hung.add(value);
    else throw new Error(`unknown option ${flag}`);
}
const fragment = readFileSync(fragmentFile, 'utf8');

const podlets = new Map();
for (let i = 0; i < count; i += 1) {
    const name = `f${i}`;
    const podlet = new Podlet({
        name,
        version: '1.0.0',
        pathname: `/${name}`,
        development: false,
    });
    podlets.set(name, podlet);
}

const server = http.createServer(async (req, res) => {
    const name = req.url.split('/')[1];
    const podlet = podlets.get(name);
    if (!podlet) {
        res.writeHead(404).end();
        return;
    }
    const incoming = new HttpIncoming(req, res, {});
    await podlet.process(incoming, { proxy: false });
    const path = req.url.split('?')[0];
    if (path === podlet.manifest()) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(podlet));
        return;
    }
    if (path === podlet.content()) {
        if (hung.has(name)) return; // never answers: the layout's timeout ends it
        const delay = delays.get(name);
        if (delay) await new Promise((r) => setTimeout(r, delay));
        res.writeHead(200, {
            'content-type': 'text/html; charset=utf-8',
            'podlet-version': podlet.version,
        });
        res.end(podlet.render(incoming, fragment));
        return;
    }
    res.writeHead(404).end();
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => {
    console.log(`http://127.0.0.1:${server.address().port}/`);
});
process.on('SIGTERM', () => process.exit(0));
