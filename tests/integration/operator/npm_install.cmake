# Build-time helper of operator_playwright: `npm install --prefix PREFIX playwright-core@VERSION`.
# A failure (offline machine) is a warning, not a build error: operator_browser_test then fails
# and says playwright-core is missing, and the next build tries again.
# playwright-core never downloads a browser (the test drives Debian's /usr/bin/chromium).
execute_process(
  COMMAND ${CMAKE_COMMAND} -E env PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
          ${NPM} install --prefix ${PREFIX} --no-audit --no-fund --loglevel=error
          playwright-core@${VERSION}
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(WARNING "npm install playwright-core@${VERSION} failed (rc=${rc}): ${err}\n"
                  "operator_browser_test will fail until it succeeds (needs the npm registry once).")
endif()
