#include "quant/breakers.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "config_fields.hpp"
#include "quant/live_rules.hpp"
#include "quant/trading.hpp"

namespace quant {

namespace {

using fields::fail;
using fields::FieldSpec;
using fields::Type;

const std::array<FieldSpec, 8> account_limit_table{{
    {.key = "max_daily_loss",
     .type = Type::number,
     .nullable = true,
     .minimum = 0,
     .exclusive_minimum = true,
     .description = "the largest loss in a UTC day, in the account currency; off when not given"},
    {.key = "max_daily_loss_pct",
     .type = Type::number,
     .nullable = true,
     .minimum = 0,
     .maximum = 100,
     .exclusive_minimum = true,
     .description = "the largest loss in a UTC day, in % of the day's starting equity"},
    {.key = "max_drawdown",
     .type = Type::number,
     .nullable = true,
     .minimum = 0,
     .exclusive_minimum = true,
     .description = "the largest fall below the peak of equity, in the account currency"},
    {.key = "max_drawdown_pct",
     .type = Type::number,
     .nullable = true,
     .minimum = 0,
     .maximum = 100,
     .exclusive_minimum = true,
     .description = "the largest fall below the peak of equity, in % of the peak"},
    {.key = "max_open_exposure",
     .type = Type::number,
     .nullable = true,
     .minimum = 0,
     .exclusive_minimum = true,
     .description = "the largest sum of |position| x price across the deployments"},
    {.key = "max_consecutive_losses",
     .type = Type::integer,
     .nullable = true,
     .minimum = 1,
     .maximum = 10000,
     .description = "losing trades in a row that trip the breaker"},
    {.key = "capital",
     .type = Type::number,
     .nullable = true,
     .minimum = 0,
     .exclusive_minimum = true,
     .description = "the equity the percentages are of (required with a percentage)"},
    {.key = "flatten_on_breach",
     .type = Type::boolean,
     .nullable = true,
     .description = "also flatten every position when a breaker trips; default false"},
}};

bool given(const Json& obj, const char* key) {
    const auto it = obj.find(key);
    return it != obj.end() && !it->is_null();
}

std::optional<double> positive(const Json& obj, const char* key, const std::string& prefix, double max,
                               const char* hint) {
    if (!given(obj, key))
        return std::nullopt;
    const std::string field = prefix + key;
    const Json& v = obj[key];
    if (!v.is_number())
        fail(field, "must be a number, got " + fields::type_name(v), hint);
    const double d = v.get<double>();
    if (!std::isfinite(d) || !(d > 0) || d > max) {
        fail(field, "must be greater than 0 and at most " + Json(max).dump() + ", got " + fields::shown(v),
             hint);
    }
    return d;
}

std::string money(double v) {
    return Json(std::round(v * 100.0) / 100.0).dump();
}

double unrealised(double qty, double avg, double mark) {
    return qty == 0.0 ? 0.0 : qty * (mark - avg);
}

}  // namespace

bool BreakerLimits::any() const {
    return max_daily_loss || max_daily_loss_pct || max_drawdown || max_drawdown_pct || max_open_exposure ||
           max_consecutive_losses;
}

BreakerLimits parse_breaker_fields(const Json& r, const std::string& prefix) {
    BreakerLimits out;
    constexpr double big = 1e15;
    out.max_daily_loss = positive(r, "max_daily_loss", prefix, big, "an amount in the account currency");
    out.max_daily_loss_pct =
        positive(r, "max_daily_loss_pct", prefix, 100, "a percentage above 0, at most 100");
    out.max_drawdown = positive(r, "max_drawdown", prefix, big, "an amount in the account currency");
    out.max_drawdown_pct = positive(r, "max_drawdown_pct", prefix, 100, "a percentage above 0, at most 100");
    if (given(r, "max_consecutive_losses")) {
        out.max_consecutive_losses =
            fields::get_int(r["max_consecutive_losses"], prefix + "max_consecutive_losses", 1, 10000,
                            "losing trades in a row, 1 to 10000");
    }
    if (given(r, "flatten_on_breach")) {
        if (!r["flatten_on_breach"].is_boolean())
            fail(prefix + "flatten_on_breach",
                 "must be true or false, got " + fields::type_name(r["flatten_on_breach"]), "true, false");
        out.flatten_on_breach = r["flatten_on_breach"].get<bool>();
    }
    return out;
}

BreakerLimits parse_account_limits(const Json& doc) {
    if (!doc.is_object()) {
        fail("account_limits", "must be an object, got " + fields::type_name(doc),
             "fields: " + fields::join_keys(account_limit_table));
    }
    fields::reject_unknown_keys(doc, account_limit_table, "account_limits.");
    BreakerLimits out = parse_breaker_fields(doc, "account_limits.");
    out.max_open_exposure =
        positive(doc, "max_open_exposure", "account_limits.", 1e15, "an amount in the account currency");
    out.capital = positive(doc, "capital", "account_limits.", 1e15, "the account's equity in its currency");
    if ((out.max_daily_loss_pct || out.max_drawdown_pct) && !out.capital) {
        fail(out.max_daily_loss_pct ? "account_limits.max_daily_loss_pct" : "account_limits.max_drawdown_pct",
             "needs account_limits.capital (the equity the percentage is of)", "give capital, e.g. 100000");
    }
    return out;
}

Json to_json_account(const BreakerLimits& l) {
    Json out = Json::object();
    const auto put = [&](const char* k, const std::optional<double>& v) {
        if (v)
            out[k] = *v;
    };
    put("max_daily_loss", l.max_daily_loss);
    put("max_daily_loss_pct", l.max_daily_loss_pct);
    put("max_drawdown", l.max_drawdown);
    put("max_drawdown_pct", l.max_drawdown_pct);
    put("max_open_exposure", l.max_open_exposure);
    if (l.max_consecutive_losses)
        out["max_consecutive_losses"] = *l.max_consecutive_losses;
    put("capital", l.capital);
    out["flatten_on_breach"] = l.flatten_on_breach;
    return out;
}

PnlFigures measure_books(const std::vector<Book>& books, std::int64_t since_us, std::int64_t day_start_us) {
    struct State {
        double qty = 0, avg = 0, realized = 0, fees = 0, mark = 0;
    };
    std::vector<State> st(books.size());
    struct Event {
        std::int64_t ts;
        std::size_t book;
        std::size_t index;
    };
    std::vector<Event> events;
    for (std::size_t b = 0; b < books.size(); ++b) {
        for (std::size_t i = 0; i < books[b].fills.size(); ++i)
            events.push_back({books[b].fills[i].ts_us, b, i});
    }
    std::stable_sort(events.begin(), events.end(),
                     [](const Event& a, const Event& b) { return a.ts < b.ts; });
    const auto total = [&st] {
        double t = 0;
        for (const State& s : st)
            t += s.realized - s.fees + unrealised(s.qty, s.avg, s.mark);
        return t;
    };
    const std::int64_t day0 = std::max(day_start_us, since_us);
    PnlFigures f;
    double base = 0;
    bool peak_started = false;
    for (const Event& e : events) {
        const BookFill& x = books[e.book].fills[e.index];
        State& s = st[e.book];
        if (!(x.qty != 0.0) || !std::isfinite(x.qty) || !(x.price > 0.0))
            continue;  // the database refuses such fills; nothing to book
        const PositionChange c = position_after(s.qty, s.avg, x.qty, x.price);
        const bool closes = s.qty != 0.0 && (s.qty > 0) != (x.qty > 0);
        s.qty = c.qty;
        s.avg = std::isnan(c.avg_price) ? 0.0 : c.avg_price;
        s.realized += c.realized;
        s.fees += x.fee;
        s.mark = x.price;
        const double t = total();
        if (x.ts_us < since_us) {
            base = t;
        } else {
            if (!peak_started) {
                f.peak_pnl = base;
                peak_started = true;
            }
            f.peak_pnl = std::max(f.peak_pnl, t);
            if (closes)
                f.consecutive_losses = c.realized - x.fee < 0.0 ? f.consecutive_losses + 1 : 0;
        }
        if (x.ts_us < day0)
            f.pnl_day_start = t;
    }
    if (!peak_started)
        f.peak_pnl = base;
    for (std::size_t b = 0; b < books.size(); ++b) {
        State& s = st[b];
        if (books[b].price && std::isfinite(*books[b].price) && *books[b].price > 0.0)
            s.mark = *books[b].price;
        else if (s.qty != 0.0)
            f.priced = false;
        f.exposure += std::fabs(s.qty) * s.mark;
    }
    f.pnl_now = total();
    f.peak_pnl = std::max(f.peak_pnl, f.pnl_now);
    return f;
}

std::optional<BreakerTrip> first_breach(const BreakerLimits& l, const PnlFigures& f) {
    const auto trip = [](const char* name, double value, double limit, std::string message) {
        return BreakerTrip{name, value, limit, std::move(message)};
    };
    if (f.priced) {
        const double loss = f.daily_loss();
        if (l.max_daily_loss && loss > *l.max_daily_loss) {
            return trip("max_daily_loss", loss, *l.max_daily_loss,
                        "the loss today (UTC) is " + money(loss) + ", more than max_daily_loss " +
                            money(*l.max_daily_loss));
        }
        if (l.max_daily_loss_pct && l.capital) {
            const double base = *l.capital + f.pnl_day_start;
            const double pct = base > 0 ? loss / base * 100.0 : std::numeric_limits<double>::infinity();
            if (pct > *l.max_daily_loss_pct) {
                return trip("max_daily_loss_pct", pct, *l.max_daily_loss_pct,
                            "the loss today (UTC) is " + money(loss) + " = " + money(pct) +
                                " % of the day's starting equity " + money(base) +
                                ", more than max_daily_loss_pct " + money(*l.max_daily_loss_pct));
            }
        }
        const double dd = f.drawdown();
        if (l.max_drawdown && dd > *l.max_drawdown) {
            return trip("max_drawdown", dd, *l.max_drawdown,
                        "equity is " + money(dd) + " below its peak, more than max_drawdown " +
                            money(*l.max_drawdown));
        }
        if (l.max_drawdown_pct && l.capital) {
            const double peak = *l.capital + f.peak_pnl;
            const double pct = peak > 0 ? dd / peak * 100.0 : std::numeric_limits<double>::infinity();
            if (pct > *l.max_drawdown_pct) {
                return trip("max_drawdown_pct", pct, *l.max_drawdown_pct,
                            "equity is " + money(dd) + " = " + money(pct) + " % below its peak " +
                                money(peak) + ", more than max_drawdown_pct " + money(*l.max_drawdown_pct));
            }
        }
        if (l.max_open_exposure && f.exposure > *l.max_open_exposure) {
            return trip("max_open_exposure", f.exposure, *l.max_open_exposure,
                        "open exposure across the deployments is " + money(f.exposure) +
                            ", more than max_open_exposure " + money(*l.max_open_exposure));
        }
    }
    if (l.max_consecutive_losses && f.consecutive_losses >= *l.max_consecutive_losses) {
        return trip("max_consecutive_losses", f.consecutive_losses, *l.max_consecutive_losses,
                    std::to_string(f.consecutive_losses) +
                        " losing trades in a row reach max_consecutive_losses " +
                        std::to_string(*l.max_consecutive_losses));
    }
    return std::nullopt;
}

namespace {

// A time in microseconds; nullopt unless a number within +-9e18 (a float is not cast blindly:
// the fuzzer found 8.64e36).
std::optional<std::int64_t> micros(const Json& v) {
    if (v.is_number_integer() && !v.is_number_unsigned())
        return v.get<std::int64_t>();
    if (v.is_number_unsigned()) {
        const auto u = v.get<std::uint64_t>();
        if (u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
            return static_cast<std::int64_t>(u);
        return std::nullopt;
    }
    if (v.is_number_float()) {
        const double d = v.get<double>();
        if (std::isfinite(d) && std::fabs(d) < 9e18)
            return static_cast<std::int64_t>(d);
    }
    return std::nullopt;
}

std::string string_of(const Json& obj, const char* key) {
    const auto it = obj.find(key);
    return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::int64_t since_of(const Json& facts, const char* key) {
    const auto it = facts.find(key);
    if (it == facts.end())
        return std::numeric_limits<std::int64_t>::min();
    return micros(*it).value_or(std::numeric_limits<std::int64_t>::min());
}

Book book_of(const Json& b) {
    Book out;
    if (const auto p = b.find("price"); p != b.end() && p->is_number())
        out.price = p->get<double>();
    if (const auto fl = b.find("fills"); fl != b.end() && fl->is_array()) {
        for (const Json& x : *fl) {
            if (!x.is_array() || x.size() != 4 || !x[0].is_number() || !x[1].is_number() ||
                !x[2].is_number() || !x[3].is_number())
                throw Error(ErrorCode::invalid_argument, "fills",
                            "fills: each must be [ts_us, qty, price, fee]");
            const auto ts = micros(x[0]);
            if (!ts)
                throw Error(ErrorCode::invalid_argument, "fills",
                            "fills: a time is not microseconds since the epoch");
            out.fills.push_back({*ts, x[1].get<double>(), x[2].get<double>(), x[3].get<double>()});
        }
    }
    return out;
}

}  // namespace

std::optional<ScopedTrip> evaluate_breakers(const Json& facts) {
    if (!facts.is_object())
        return std::nullopt;
    const std::string dep = string_of(facts, "deployment_id");
    const std::int64_t day0 = since_of(facts, "day_start_us");
    std::vector<Book> all;
    std::vector<Book> own;
    if (const auto b = facts.find("books"); b != facts.end() && b->is_array()) {
        for (const Json& x : *b) {
            all.push_back(book_of(x));
            if (string_of(x, "deployment_id") == dep)
                own.push_back(all.back());
        }
    }
    if (const auto r = facts.find("risk_limits"); r != facts.end() && r->is_object()) {
        BreakerLimits l = parse_breaker_fields(*r, "risk_limits.");
        if (l.any()) {
            double cap = 10000.0;  // the default max_position_usd
            if (const auto m = r->find("max_position_usd"); m != r->end() && m->is_number())
                cap = m->get<double>();
            l.capital = cap;
            const PnlFigures f = measure_books(own, since_of(facts, "deployment_since_us"), day0);
            if (auto t = first_breach(l, f))
                return ScopedTrip{"deployment", std::move(*t)};
        }
    }
    if (const auto a = facts.find("account_limits"); a != facts.end() && a->is_object()) {
        const BreakerLimits l = parse_account_limits(*a);
        if (l.any()) {
            const PnlFigures f = measure_books(all, since_of(facts, "account_since_us"), day0);
            if (auto t = first_breach(l, f))
                return ScopedTrip{"account", std::move(*t)};
        }
    }
    return std::nullopt;
}

}  // namespace quant
