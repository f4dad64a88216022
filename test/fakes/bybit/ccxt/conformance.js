// ccxt (a Bybit client nobody here wrote) against fake-bybit: the fake must be Bybit enough for
// ccxt's own request building, signing and parsing. Usage:
//   FAKE_BYBIT_URL=http://127.0.0.1:PORT FAKE_BYBIT_KEY=K FAKE_BYBIT_SECRET=S node conformance.js
// The fake must be fresh (started with --balance USDT=100000 --price BTCUSDT=50000, fee-spot
// 0.001, fee-linear 0.00055); the script resets it through the control API first.
// Last line: "N passed, N failed".
'use strict';
const ccxt = require('ccxt');

const base = process.env.FAKE_BYBIT_URL;
const apiKey = process.env.FAKE_BYBIT_KEY;
const secret = process.env.FAKE_BYBIT_SECRET;
if (!base || !apiKey || !secret) {
    console.log('set FAKE_BYBIT_URL, FAKE_BYBIT_KEY and FAKE_BYBIT_SECRET');
    console.log('0 passed, 1 failed');
    process.exit(1);
}

let passed = 0;
let failed = 0;
function check(name, ok, detail) {
    if (ok) {
        passed++;
        console.log(`ok - ${name}`);
    } else {
        failed++;
        console.log(`not ok - ${name}${detail === undefined ? '' : ': ' + detail}`);
    }
}
const near = (a, b, eps = 1e-9) => typeof a === 'number' && Math.abs(a - b) <= eps * Math.max(1, Math.abs(b));

async function control(cmd) {
    const r = await fetch(base + '/__control', { method: 'POST', body: JSON.stringify(cmd) });
    const j = await r.json();
    if (!j.ok) throw new Error('control ' + JSON.stringify(cmd) + ': ' + j.error);
    return j;
}

function client(sec) {
    const ex = new ccxt.bybit({ apiKey, secret: sec, enableRateLimit: false, timeout: 10000 });
    // Every API group points at the fake (ccxt's `urls` override).
    ex.urls.api = { spot: base, futures: base, v2: base, public: base, private: base };
    return ex;
}

async function step(name, fn) {
    try {
        await fn();
    } catch (e) {
        check(name, false, `${e.constructor.name}: ${e.message}`);
    }
}

async function main() {
    await control({ op: 'reset' });
    const ex = client(secret);
    console.log(`ccxt ${ccxt.version} against ${base}`);

    await step('fetchTime', async () => {
        const t = await ex.fetchTime();
        check('fetchTime is the server clock (within 60 s)', Math.abs(t - Date.now()) < 60000, t);
    });

    await step('loadMarkets', async () => {
        const markets = await ex.loadMarkets();
        const spot = markets['BTC/USDT'];
        const perp = markets['BTC/USDT:USDT'];
        check('loadMarkets: spot BTC/USDT', spot && spot.spot && spot.id === 'BTCUSDT' && spot.active);
        check('loadMarkets: linear BTC/USDT:USDT', perp && perp.swap && perp.linear && perp.settle === 'USDT');
        check('spot precision/limits from lotSizeFilter', spot && spot.precision.amount === 0.000001 &&
            spot.limits.amount.min === 0.000048 && spot.limits.cost.min === 1, JSON.stringify(spot && spot.limits));
        check('linear precision/limits from lotSizeFilter', perp && perp.precision.amount === 0.001 &&
            perp.precision.price === 0.1 && perp.limits.amount.min === 0.001 && perp.limits.cost.min === 5,
        JSON.stringify(perp && perp.precision));
    });

    await step('fetchBalance', async () => {
        const bal = await ex.fetchBalance();
        check('fetchBalance: USDT 100000 (UNIFIED wallet-balance)', bal.USDT && bal.USDT.total === 100000,
            JSON.stringify(bal.USDT));
    });

    await step('fetchTicker', async () => {
        const t = await ex.fetchTicker('BTC/USDT:USDT');
        check('fetchTicker: last = the fake price', t.last === 50000, t.last);
    });

    let spotId;
    await step('createOrder spot market buy', async () => {
        const o = await ex.createOrder('BTC/USDT', 'market', 'buy', 0.01, undefined, { clientOrderId: 'ccxt-spot-1' });
        spotId = o.id;
        check('createOrder spot market: an order id (acknowledgement)', typeof o.id === 'string' && o.id.length > 0, o.id);
        const c = await ex.fetchClosedOrder(o.id, 'BTC/USDT');
        check('fetchClosedOrder spot: closed, filled 0.01 at 50000', c.status === 'closed' && near(c.filled, 0.01) &&
            c.average === 50000 && c.clientOrderId === 'ccxt-spot-1', JSON.stringify([c.status, c.filled, c.average, c.clientOrderId]));
        const bal = await ex.fetchBalance();
        check('balance after the spot buy: BTC 0.00999 (fee in base), USDT 99500',
            near(bal.BTC && bal.BTC.total, 0.00999) && near(bal.USDT.total, 99500), JSON.stringify([bal.BTC, bal.USDT]));
    });

    await step('createOrder spot duplicate clientOrderId', async () => {
        try {
            await ex.createOrder('BTC/USDT', 'market', 'buy', 0.01, undefined, { clientOrderId: 'ccxt-spot-1' });
            check('duplicate orderLinkId on spot is refused', false, 'accepted');
        } catch (e) {
            check('duplicate orderLinkId on spot is refused (170141)', e instanceof ccxt.ExchangeError && /170141/.test(e.message),
                e.constructor.name + ' ' + e.message);
        }
    });

    await step('createOrder linear market buy', async () => {
        const o = await ex.createOrder('BTC/USDT:USDT', 'market', 'buy', 0.01, undefined, { clientOrderId: 'ccxt-lin-1' });
        const f = await ex.fetchOrder(o.id, 'BTC/USDT:USDT', { acknowledged: true });
        check('fetchOrder linear (realtime): closed, filled 0.01, average 50000',
            f.status === 'closed' && near(f.filled, 0.01) && f.average === 50000, JSON.stringify([f.status, f.filled, f.average]));
        check('fetchOrder fee: 0.01 * 50000 * 0.00055 USDT', f.fee && near(f.fee.cost, 0.275) && f.fee.currency === 'USDT',
            JSON.stringify(f.fee));
        const ps = await ex.fetchPositions(['BTC/USDT:USDT']);
        const p = ps.find((x) => x.symbol === 'BTC/USDT:USDT');
        check('fetchPositions: long 0.01 at 50000 (one-way)', p && p.side === 'long' && near(p.contracts, 0.01) &&
            p.entryPrice === 50000, JSON.stringify(p && [p.side, p.contracts, p.entryPrice]));
        const all = await ex.fetchPositions();
        check('fetchPositions (settleCoin): the open position only', all.length === 1 && all[0].symbol === 'BTC/USDT:USDT',
            all.length);
    });

    await step('linear duplicate clientOrderId', async () => {
        try {
            await ex.createOrder('BTC/USDT:USDT', 'market', 'buy', 0.01, undefined, { clientOrderId: 'ccxt-lin-1' });
            check('duplicate orderLinkId on linear is refused', false, 'accepted');
        } catch (e) {
            check('duplicate orderLinkId on linear is refused (110072)', /110072/.test(e.message), e.message);
        }
    });

    await step('limit order, fetchOpenOrder, cancelOrder', async () => {
        const o = await ex.createOrder('BTC/USDT:USDT', 'limit', 'buy', 0.01, 40000);
        const open = await ex.fetchOpenOrder(o.id, 'BTC/USDT:USDT');
        check('fetchOpenOrder: the resting limit order is open', open.status === 'open' && open.price === 40000 &&
            near(open.remaining, 0.01), JSON.stringify([open.status, open.price, open.remaining]));
        const c = await ex.cancelOrder(o.id, 'BTC/USDT:USDT');
        check('cancelOrder: the id comes back', c.id === o.id, c.id);
        const byId = await ex.fetchOrder(o.id, 'BTC/USDT:USDT', { acknowledged: true });
        check('fetchOrder after cancel (realtime by orderId): canceled', byId.status === 'canceled', byId.status);
        const cancelled = await ex.fetchCanceledOrders('BTC/USDT:USDT');
        check('fetchCanceledOrders (history, orderStatus=Cancelled): just that order',
            cancelled.length === 1 && cancelled[0].id === o.id && cancelled[0].status === 'canceled', cancelled.length);
        const filled = await ex.fetchClosedOrders('BTC/USDT:USDT');
        check('fetchClosedOrders (orderStatus=Filled): the market order only', filled.length === 1 &&
            filled[0].clientOrderId === 'ccxt-lin-1', filled.length);
        try {
            await ex.cancelOrder(o.id, 'BTC/USDT:USDT');
            check('cancel of a cancelled order is refused', false, 'accepted');
        } catch (e) {
            check('cancel of a cancelled order: OrderNotFound (110001)', e instanceof ccxt.OrderNotFound, e.constructor.name);
        }
    });

    await step('fetchMyTrades and a reduceOnly close', async () => {
        const trades = await ex.fetchMyTrades('BTC/USDT:USDT');
        check('fetchMyTrades (execution/list): the linear fill, 0.01 at 50000', trades.length === 1 &&
            near(trades[0].amount, 0.01) && trades[0].price === 50000 && trades[0].side === 'buy',
        JSON.stringify(trades.map((t) => [t.side, t.amount, t.price])));
        await ex.createOrder('BTC/USDT:USDT', 'market', 'sell', 0.01, undefined, { reduceOnly: true });
        const ps = await ex.fetchPositions(['BTC/USDT:USDT']);
        check('a reduceOnly market sell closes the long: no contracts left',
            ps.every((p) => !p.contracts), JSON.stringify(ps.map((p) => [p.side, p.contracts])));
    });

    await step('spot market sell', async () => {
        const o = await ex.createOrder('BTC/USDT', 'market', 'sell', 0.009);
        const c = await ex.fetchClosedOrder(o.id, 'BTC/USDT');
        check('spot market sell: closed, filled 0.009', c.status === 'closed' && near(c.filled, 0.009), c.status);
    });

    await step('insufficient balance', async () => {
        try {
            await ex.createOrder('BTC/USDT', 'market', 'buy', 10);
            check('spot buy above the balance is refused', false, 'accepted');
        } catch (e) {
            check('spot buy above the balance: InsufficientFunds (170131)', e instanceof ccxt.InsufficientFunds, e.constructor.name);
        }
    });

    await step('fetchOHLCV', async () => {
        await control({ op: 'set_price', symbol: 'BTCUSDT', price: '50123.4' });
        const bars = await ex.fetchOHLCV('BTC/USDT:USDT', '1m', undefined, 5);
        check('fetchOHLCV: 5 candles, oldest first after ccxt re-orders', bars.length === 5 && bars[0][0] < bars[4][0],
            bars.length);
        check('fetchOHLCV: one minute apart', bars.every((b, i) => i === 0 || b[0] - bars[i - 1][0] === 60000));
        check('fetchOHLCV: the forming candle closes at the current price', bars[4][4] === 50123.4, bars[4][4]);
        const since = bars[0][0] - 10 * 60000;
        const page = await ex.fetchOHLCV('BTC/USDT', '1m', since, 3);
        check('fetchOHLCV since: 3 spot candles from since', page.length === 3 && page[0][0] === since,
            JSON.stringify(page.map((b) => b[0] - since)));
    });

    await step('clock skew gives InvalidNonce (10002)', async () => {
        await control({ op: 'clock', skew_ms: 60000 });
        try {
            await ex.fetchBalance();
            check('a request 60 s behind the server is refused', false, 'accepted');
        } catch (e) {
            check('a request 60 s behind the server: InvalidNonce (10002)', e instanceof ccxt.InvalidNonce && /10002/.test(e.message),
                e.constructor.name + ' ' + e.message);
        } finally {
            await control({ op: 'clock', skew_ms: 0 });
        }
    });

    await step('wrong secret gives 10004', async () => {
        const bad = client(secret + 'x');
        bad.markets = ex.markets;
        bad.markets_by_id = ex.markets_by_id;
        bad.options.enableUnifiedAccount = true;
        bad.options.enableUnifiedMargin = false;
        try {
            await bad.fetchBalance();
            check('a wrong secret is refused', false, 'accepted');
        } catch (e) {
            check('a wrong secret: AuthenticationError with retCode 10004', e instanceof ccxt.AuthenticationError && /10004/.test(e.message),
                e.constructor.name + ' ' + e.message);
        }
    });

    await step('unknown key gives 10003', async () => {
        const bad = new ccxt.bybit({ apiKey: 'nobody', secret, enableRateLimit: false });
        bad.urls.api = ex.urls.api;
        bad.markets = ex.markets;
        bad.markets_by_id = ex.markets_by_id;
        bad.options.enableUnifiedAccount = true;
        bad.options.enableUnifiedMargin = false;
        try {
            await bad.fetchBalance();
            check('an unknown key is refused', false, 'accepted');
        } catch (e) {
            check('an unknown key: AuthenticationError with retCode 10003', e instanceof ccxt.AuthenticationError && /10003/.test(e.message),
                e.constructor.name + ' ' + e.message);
        }
    });

    await step('the fake book equals what ccxt read', async () => {
        const st = await (await fetch(base + '/__control/state')).json();
        const acct = st.accounts[apiKey];
        check('fake state: 5 orders accepted (2 spot market, 2 linear market, 1 limit)', acct.orders.length === 5,
            acct.orders.length);
        check('fake state: no linear position left, BTC spot 0.00099 left', acct.positions.every((p) => p.size === '0') &&
            acct.balances.BTC === '0.00099', JSON.stringify([acct.positions.map((p) => p.size), acct.balances]));
        check('fake state: the two duplicates were refused, nothing stored',
            st.creates.filter((c) => c.retCode === 170141 || c.retCode === 110072).length === 2);
    });

    console.log(`${passed} passed, ${failed} failed`);
    process.exit(failed === 0 ? 0 : 1);
}

main().catch((e) => {
    console.log(`not ok - conformance crashed: ${e.stack}`);
    console.log(`${passed} passed, ${failed + 1} failed`);
    process.exit(1);
});
