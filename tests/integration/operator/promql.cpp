#include "promql.hpp"

#include <cctype>
#include <sstream>

namespace connpool::test {
namespace {

bool ident_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':';
}
bool ident_char(char c) {
  return ident_start(c) || std::isdigit(static_cast<unsigned char>(c));
}

const std::set<std::string_view>& grouping_keywords() {
  static const std::set<std::string_view> k = {"by",       "without",    "on",
                                               "ignoring", "group_left", "group_right"};
  return k;
}
// Aggregations may put their grouping clause first: `sum by (pool) (x)`.
const std::set<std::string_view>& aggregations() {
  static const std::set<std::string_view> k = {"sum",          "min",     "max",    "avg",
                                               "group",        "stddev",  "stdvar", "count",
                                               "count_values", "bottomk", "topk",   "quantile"};
  return k;
}
const std::set<std::string_view>& operator_keywords() {
  static const std::set<std::string_view> k = {"and", "or", "unless", "bool", "offset", "atan2"};
  return k;
}

class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}
  PromqlRefs run() {
    while (i_ < s_.size()) step();
    return std::move(refs_);
  }

 private:
  void skip_ws() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  std::string ident() {
    const auto b = i_;
    while (i_ < s_.size() && ident_char(s_[i_])) ++i_;
    return std::string(s_.substr(b, i_ - b));
  }
  void skip_string() {
    const char q = s_[i_++];
    while (i_ < s_.size() && s_[i_] != q) {
      if (s_[i_] == '\\') ++i_;
      ++i_;
    }
    if (i_ >= s_.size()) {
      refs_.errors.push_back("unterminated string");
      return;
    }
    ++i_;
  }
  // (label, label, ...)
  void label_list(std::set<std::string>& out) {
    skip_ws();
    if (i_ >= s_.size() || s_[i_] != '(') {
      refs_.errors.push_back("grouping clause without a label list");
      return;
    }
    ++i_;
    for (;;) {
      skip_ws();
      if (i_ >= s_.size()) {
        refs_.errors.push_back("unterminated label list");
        return;
      }
      if (s_[i_] == ')') {
        ++i_;
        return;
      }
      if (s_[i_] == ',') {
        ++i_;
        continue;
      }
      if (!ident_start(s_[i_])) {
        refs_.errors.push_back(std::string("unexpected '") + s_[i_] + "' in a label list");
        ++i_;
        continue;
      }
      out.insert(ident());
    }
  }
  // {label op "value", ...}
  void matchers(std::set<std::string>& labels) {
    ++i_;  // '{'
    for (;;) {
      skip_ws();
      if (i_ >= s_.size()) {
        refs_.errors.push_back("unterminated label matchers");
        return;
      }
      const char c = s_[i_];
      if (c == '}') {
        ++i_;
        return;
      }
      if (c == ',') {
        ++i_;
        continue;
      }
      if (!ident_start(c)) {
        refs_.errors.push_back(std::string("unexpected '") + c + "' in label matchers");
        ++i_;
        continue;
      }
      labels.insert(ident());
      skip_ws();
      while (i_ < s_.size() && (s_[i_] == '=' || s_[i_] == '!' || s_[i_] == '~')) ++i_;
      skip_ws();
      if (i_ < s_.size() && (s_[i_] == '"' || s_[i_] == '\'')) {
        skip_string();
      } else {
        refs_.errors.push_back("label matcher without a quoted value");
      }
    }
  }
  void step() {
    const char c = s_[i_];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i_;
    } else if (c == '"' || c == '\'' || c == '`') {
      skip_string();
    } else if (c == '$') {
      ++i_;
      if (i_ < s_.size() && s_[i_] == '{') {  // ${var}
        const auto e = s_.find('}', i_);
        refs_.variables.insert(std::string(s_.substr(i_ + 1, e - i_ - 1)));
        i_ = e == std::string_view::npos ? s_.size() : e + 1;
      } else {
        refs_.variables.insert(ident());
      }
    } else if (c == '[') {  // range or subquery: durations and variables only
      const auto e = s_.find(']', i_);
      if (e == std::string_view::npos) {
        refs_.errors.push_back("unterminated range");
        i_ = s_.size();
        return;
      }
      const auto inside = s_.substr(i_ + 1, e - i_ - 1);
      if (const auto d = inside.find('$'); d != std::string_view::npos) {
        std::size_t k = d + 1;
        while (k < inside.size() && ident_char(inside[k])) ++k;
        refs_.variables.insert(std::string(inside.substr(d + 1, k - d - 1)));
      }
      i_ = e + 1;
    } else if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
      while (i_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[i_])) || s_[i_] == '.'))
        ++i_;
    } else if (ident_start(c)) {
      const auto name = ident();
      if (grouping_keywords().contains(name)) {
        skip_ws();
        const bool optional = name == "group_left" || name == "group_right";
        if (!optional || (i_ < s_.size() && s_[i_] == '(')) label_list(refs_.grouping_labels);
        return;
      }
      if (operator_keywords().contains(name)) return;
      skip_ws();
      if (aggregations().contains(name)) {
        refs_.functions.insert(name);
        return;  // its grouping clause and arguments are scanned as the loop goes on
      }
      if (i_ < s_.size() && s_[i_] == '(') {
        refs_.functions.insert(name);
        return;  // the arguments are scanned as the loop goes on
      }
      auto& labels = refs_.metrics[name];
      if (i_ < s_.size() && s_[i_] == '{') matchers(labels);
    } else if (c == '{') {  // a selector without a metric name: {__name__=...}
      std::set<std::string> labels;
      matchers(labels);
      refs_.errors.push_back("selector without a metric name");
    } else {
      ++i_;  // operators and punctuation
    }
  }

  std::string_view s_;
  std::size_t i_ = 0;
  PromqlRefs refs_;
};

std::string histogram_family(const std::string& name, const Exposition& e) {
  for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
    if (name.size() > suffix.size() && name.ends_with(suffix)) {
      const auto base = name.substr(0, name.size() - suffix.size());
      auto it = e.types.find(base);
      if (it != e.types.end() && it->second == "histogram") return base;
    }
  }
  return {};
}

}  // namespace

PromqlRefs parse_promql(std::string_view expr) {
  return Scanner(expr).run();
}

bool Exposition::has_metric(const std::string& name) const {
  // A histogram is selected through its _bucket/_sum/_count series: the family must be a
  // histogram and the series present.
  const auto family = histogram_family(name, *this);
  if (!family.empty()) return samples.contains(name);
  return samples.contains(name);
}

std::set<std::string> Exposition::labels_of(const std::string& name) const {
  auto it = samples.find(name);
  return it == samples.end() ? std::set<std::string>{} : it->second;
}

Exposition parse_exposition(std::string_view text) {
  Exposition e;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line.starts_with("# TYPE ")) {
      std::istringstream t(line.substr(7));
      std::string name, type;
      t >> name >> type;
      e.types[name] = type;
      continue;
    }
    if (line[0] == '#') continue;
    std::size_t i = 0;
    while (i < line.size() && ident_char(line[i])) ++i;
    auto& labels = e.samples[line.substr(0, i)];
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        const auto b = i;
        while (i < line.size() && ident_char(line[i])) ++i;
        labels.insert(line.substr(b, i - b));
        // skip ="value" (with escapes), then a comma
        while (i < line.size() && line[i] != '"') ++i;
        ++i;
        while (i < line.size() && line[i] != '"') {
          if (line[i] == '\\') ++i;
          ++i;
        }
        ++i;
        if (i < line.size() && line[i] == ',') ++i;
      }
    }
  }
  return e;
}

}  // namespace connpool::test
