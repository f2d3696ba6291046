#include "cli/cli.h"

#include <charconv>

#include "config/user_error.h"  // join
#include "config/yaml_reader.h"  // did_you_mean

namespace cestvp {
namespace {

// "--workload", "-j" for an option without a long name, or "MODEL" for a positional argument.
std::string option_name(const CLI::Option& option) {
  if (!option.get_lnames().empty()) return "--" + option.get_lnames().front();
  if (!option.get_snames().empty()) return "-" + option.get_snames().front();
  std::string name = option.get_name();
  for (char& ch : name) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return name;
}

// Every name the user can write for the options of `cmd` (but --help), and the main ones.
void option_names(const CLI::App& cmd, std::vector<std::string>& all, std::vector<std::string>& main) {
  for (const CLI::Option* option : cmd.get_options()) {
    if (option == cmd.get_help_ptr() || option->get_lnames().size() + option->get_snames().size() == 0) continue;
    for (const std::string& name : option->get_lnames()) all.push_back("--" + name);
    for (const std::string& name : option->get_snames()) all.push_back("-" + name);
    main.push_back(option_name(*option));
  }
}

std::string command_name(const CLI::App& cmd) {
  return cmd.get_parent() ? "satvp " + cmd.get_name() : "satvp";
}

std::vector<std::string> subcommand_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) names.push_back(sub->get_name());
  return names;
}

// An argument CLI11 could not place: an unknown option, or a word where an option belongs.
std::string unexpected_argument(const CLI::App& cmd, const std::string& argument) {
  if (argument.size() > 1 && argument[0] == '-') {
    const std::string name = argument.substr(0, argument.find('='));
    std::vector<std::string> all, main;
    option_names(cmd, all, main);
    return name + ": unknown option of " + command_name(cmd) + did_you_mean(name, all) + "; expected one of " +
           join(main, ", ");
  }
  return argument + ": unexpected argument to " + command_name(cmd) + "; expected options, each as --name value (" +
         command_name(cmd) + " --help)";
}

// "--workload --mode timing" gives --workload the value "--mode": the missing value is the
// problem, not the "timing" left over.
const CLI::Option* took_an_option(const CLI::App& cmd, std::string& taken) {
  for (const CLI::Option* option : cmd.get_options()) {
    for (const std::string& result : option->results()) {
      if (result.size() > 1 && result[0] == '-' && cmd.get_option_no_throw(result.substr(0, result.find('=')))) {
        taken = result;
        return option;
      }
    }
  }
  return nullptr;
}

// The option whose name starts CLI11's message `text` ("--mode: ..."), if any.
const CLI::Option* named_option(const CLI::App& cmd, const std::string& text, const std::string& separator) {
  const std::size_t end = text.find(separator);
  return end == std::string::npos ? nullptr : cmd.get_option_no_throw(text.substr(0, end));
}

std::string usage(const CLI::Option& option) {
  return option.nonpositional() ? option_name(option) + " " + option.get_type_name() : option_name(option);
}

}  // namespace

CLI::Validator one_of(std::vector<std::string> values) {
  const std::string description = "{" + join(values, ",") + "}";  // as CLI::IsMember shows them in --help
  return CLI::Validator(
      [values](std::string& value) -> std::string {
        for (const std::string& v : values)
          if (v == value) return "";
        return "'" + value + "' is not a choice" + did_you_mean(value, values) + "; expected one of " + join(values, ", ");
      },
      description);
}

CLI::Validator whole_number(std::uint64_t min, std::uint64_t max) {
  const std::string range = std::to_string(min) + " to " + std::to_string(max);
  return CLI::Validator(
      [min, max, range](std::string& value) -> std::string {
        std::uint64_t n = 0;
        const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), n);
        const bool number = !value.empty() && end == value.data() + value.size();
        if (number && error == std::errc() && n >= min && n <= max) return "";
        return "'" + value + (number ? "' is out of range" : "' is not a whole number") +
               "; expected a whole number from " + range;
      },
      "[" + std::to_string(min) + ".." + std::to_string(max) + "]");
}

std::string parse_error_message(const CLI::App& app, const CLI::ParseError& error) {
  const std::vector<CLI::App*> parsed = app.get_subcommands();
  // Arguments before the subcommand, or instead of one.
  const std::vector<std::string> before = app.remaining();
  if (parsed.empty() || !before.empty()) {
    const std::vector<std::string> names = subcommand_names(app);
    const std::string expected = "; expected one of " + join(names, ", ") + " (satvp --help)";
    if (before.empty()) return "no subcommand" + expected;
    if (before[0].size() > 1 && before[0][0] == '-')
      return before[0] + ": an option before the subcommand; expected a subcommand first: satvp " + join(names, "|") +
             " [options]";
    if (!parsed.empty())  // before it, or after a "--"
      return before[0] + ": unexpected argument; expected satvp " + parsed.front()->get_name() + " [options]";
    return before[0] + ": unknown subcommand" + did_you_mean(before[0], names) + expected;
  }
  const CLI::App& cmd = *parsed.front();
  const std::string text = error.what();
  std::string taken;
  if (const CLI::Option* option = took_an_option(cmd, taken))
    return option_name(*option) + ": missing value (the next argument, " + taken + ", is an option); expected " +
           usage(*option);
  // CLI11 checks required options before unknown ones: a misspelt --workload would be reported
  // as a missing --workload.
  const std::vector<std::string> left = cmd.remaining();
  if (!left.empty()) return unexpected_argument(cmd, left.front());
  if (dynamic_cast<const CLI::ValidationError*>(&error)) return text;  // the validators above write ours
  if (dynamic_cast<const CLI::RequiredError*>(&error)) {
    if (const CLI::Option* option = named_option(cmd, text, " is required"))
      return cmd.get_name() + ": " + option_name(*option) + " is required; expected " + usage(*option) + " (" +
             option->get_description() + ")";
  }
  if (dynamic_cast<const CLI::ArgumentMismatch*>(&error)) {
    if (const CLI::Option* option = named_option(cmd, text, ": ")) {
      const std::vector<std::string>& results = option->results();
      if (results.size() > 1)
        return option_name(*option) + ": given " + std::to_string(results.size()) + " times (" + join(results, ", ") +
               "); expected it once";
      return option_name(*option) + ": missing value; expected " + usage(*option);
    }
  }
  if (dynamic_cast<const CLI::ConversionError*>(&error)) {
    // "Could not convert: --rows = abc", for an option without a validator above
    const std::string prefix = "Could not convert: ";
    if (text.rfind(prefix, 0) == 0) {
      const std::string rest = text.substr(prefix.size());
      if (const CLI::Option* option = named_option(cmd, rest, " = ")) {
        const std::string value = rest.substr(rest.find(" = ") + 3);
        if (option->get_expected_min() == 0 && option->get_type_name().empty())  // a flag: "--csv=maybe"
          return option_name(*option) + ": '" + value + "' is not a flag's value; expected " + option_name(*option) +
                 " alone, or =true or =false";
        return option_name(*option) + ": '" + value + "' cannot be read as " + option->get_type_name() +
               "; expected " + usage(*option);
      }
    }
  }
  return cmd.get_name() + ": " + text + "; expected the options of " + command_name(cmd) + " --help";
}

}  // namespace cestvp
