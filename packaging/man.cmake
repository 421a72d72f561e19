# man.cmake: builds cairn(1) from the program's own help, so the page and
# `--help` cannot drift apart.
#
#   cmake -DCAIRN=path/to/cairn -DOUT=cairn.1 -DWORK=dir -P man.cmake
#
# writes OUT and OUT.gz (gzip -9n, as Debian installs manual pages).
#
# help2man renders `cairn --help` (the commands and every `cairn node`
# option) and `cairn --version`.  One more section per command holds
# `cairn COMMAND --help` verbatim, and for a command whose help lists
# commands of its own (`cairn header`), `cairn COMMAND SUB --help` too.
# Commands are read from the "Commands:" list of the help text, so a new
# command appears on the page without an edit here.
cmake_minimum_required(VERSION 3.25)
foreach(var CAIRN OUT WORK)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "man.cmake: -D${var}=... is required")
  endif()
endforeach()
find_program(HELP2MAN help2man REQUIRED)

# A command whose --help fails is a bug, but not one that should stop the
# build: it is reported, and its text (if any) still goes on the page, where
# tests/e2e/test_install.py compares it with the command's output.
function(run_help out_var)
  execute_process(COMMAND ${CAIRN} ${ARGN} --help OUTPUT_VARIABLE text RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(WARNING "man.cmake: 'cairn ${ARGN} --help' exited with ${rc}")
  endif()
  set(${out_var} "${text}" PARENT_SCOPE)
endfunction()

# The names in the "Commands:" block of a help text (two-space indented lines).
function(list_commands out_var text)
  set(names "")
  set(in_block FALSE)
  string(REPLACE "\n" ";" lines "${text}")
  foreach(line IN LISTS lines)
    if(line STREQUAL "Commands:")
      set(in_block TRUE)
    elseif(in_block AND line MATCHES "^  ([a-z][a-z0-9-]*) ")
      list(APPEND names ${CMAKE_MATCH_1})
    elseif(in_block)
      set(in_block FALSE)
    endif()
  endforeach()
  set(${out_var} "${names}" PARENT_SCOPE)
endfunction()

# Help text as verbatim roff: every line starts with \& so that no line is
# read as a roff request or a help2man section, and backslashes print.
function(verbatim out_var text)
  string(REPLACE "\\" "\\e" text "${text}")
  string(REGEX REPLACE "\n$" "" text "${text}")
  string(REPLACE "\n" "\n\\&" text "${text}")
  set(${out_var} ".nf\n\\&${text}\n.fi\n" PARENT_SCOPE)
endfunction()

run_help(top)
list_commands(commands "${top}")
set(include "[COMMANDS]\nEach command below has its own options; the text is that of \\fBcairn\\fR \\fICOMMAND\\fR \\fB\\-\\-help\\fR.\n")
foreach(command IN LISTS commands)
  if(command STREQUAL "node")
    continue() # its options are those of `cairn --help`, in OPTIONS
  endif()
  run_help(text ${command})
  verbatim(body "${text}")
  string(APPEND include ".SS \"cairn ${command}\"\n${body}")
  list_commands(subcommands "${text}")
  foreach(sub IN LISTS subcommands)
    run_help(subtext ${command} ${sub})
    verbatim(body "${subtext}")
    string(APPEND include ".SS \"cairn ${command} ${sub}\"\n${body}")
  endforeach()
endforeach()
string(APPEND include "\n[FILES]\n.TP\n.I /etc/cairn/cairn.yaml\nThe configuration the packaged systemd unit passes to \\fB\\-\\-config\\-file\\fR; every key is listed there, commented out.\n.TP\n.I /var/lib/cairn\nThe unit's state directory: the database directory lives here.\n")
string(APPEND include "\n[SEE ALSO]\nThe documentation under /usr/share/doc/cairn and in the source tree: docs/configuration.md, docs/api.md, docs/backups.md, docs/operations.md.\n")
file(MAKE_DIRECTORY ${WORK})
file(WRITE ${WORK}/cairn.h2m "${include}")
execute_process(
  COMMAND ${HELP2MAN} --no-info --no-discard-stderr --section 1
          --name "Chainweb-compatible node with hot, consistent, verifiable backups"
          --include ${WORK}/cairn.h2m --output ${OUT}.tmp ${CAIRN}
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "man.cmake: help2man failed (${rc})")
endif()
execute_process(COMMAND gzip -9nc ${OUT}.tmp OUTPUT_FILE ${OUT}.gz.tmp RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "man.cmake: gzip failed (${rc})")
endif()
file(RENAME ${OUT}.gz.tmp ${OUT}.gz)
file(RENAME ${OUT}.tmp ${OUT})
