-- What quant.get_strategy returns is a config every other function accepts as it stands.
BEGIN;
SELECT plan(4);
SELECT quant.set_user('roundtrip_user');
SELECT quant.create_strategy('{"ticker":"MSFT","trading_period":252,"substrategies":[
  {"indicator":"get_ema_distance","signal_func":"momentum_band_signal","window":10,"signal":0.01}]}')
  ->> 'strategy_id' AS id \gset
SELECT lives_ok(format($$SELECT quant.backtest(quant.get_strategy(%L))$$, :'id'),
                'quant.backtest(quant.get_strategy(id)) works');
SELECT is((quant.backtest(quant.get_strategy(:'id'))->'metrics'),
          (quant.backtest('{"ticker":"MSFT","trading_period":252,"substrategies":[
            {"indicator":"get_ema_distance","signal_func":"momentum_band_signal","window":10,"signal":0.01}]}')->'metrics'),
          'and gives the metrics of the config it was created from');
SELECT lives_ok(format($$SELECT quant.store_result(%L, quant.backtest(quant.get_strategy(%L)))$$, :'id', :'id'),
                'its backtest can be stored');
SELECT is((quant.update_strategy(:'id', quant.get_strategy(:'id'))->>'version')::int, 1,
          'updating with its own get_strategy output keeps the version');
SELECT * FROM finish();
ROLLBACK;
