// For config_schema_examples.py: prints a config schema, or validates a config with the core's
// validator ("ok", or the error on one line).
//   schema_tool schema strategy|deployment
//   schema_tool validate strategy|deployment < config.json
#include <iostream>
#include <iterator>
#include <string>

#include "quant/config_schema.hpp"
#include "quant/deployment_config.hpp"
#include "quant/error.hpp"
#include "quant/strategy_config.hpp"

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: schema_tool schema|validate strategy|deployment\n";
        return 2;
    }
    const std::string what = argv[1], kind = argv[2];
    if (what == "schema") {
        std::cout << (kind == "strategy" ? quant::strategy_config_schema()
                                         : quant::deployment_config_schema())
                         .dump(2)
                  << "\n";
        return 0;
    }
    const std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    try {
        if (kind == "strategy")
            quant::parse_strategy_config(std::string_view(text));
        else
            quant::parse_deployment_config(std::string_view(text));
        std::cout << "ok\n";
    } catch (const quant::Error& e) {
        std::cout << "error " << e.what() << "\n";
    }
    return 0;
}
