# install.cmake: the install steps that depend on the prefix at install time
# (cmake --install --prefix P, or /usr when cpack builds the .deb).
#
# - The systemd unit names the installed binary and configuration file, so
#   it is written here from cairn.service.in rather than at configure time.
# - The configuration goes to /etc/cairn when the prefix is /usr (as the
#   Debian package has it) and to PREFIX/etc/cairn otherwise.  An existing
#   configuration file is never overwritten: the example then goes beside it
#   as cairn.yaml.example.
#
# Inputs, set by the install(CODE) line before this script: CAIRN_SOURCE,
# CAIRN_BUILD (the packaging directories) and CAIRN_BINDIR.
set(prefix "${CMAKE_INSTALL_PREFIX}")
if(prefix STREQUAL "/usr")
  set(etc "/etc")
else()
  set(etc "${prefix}/etc")
endif()
if(IS_ABSOLUTE "${CAIRN_BINDIR}")
  set(CAIRN_BINARY "${CAIRN_BINDIR}/cairn")
else()
  set(CAIRN_BINARY "${prefix}/${CAIRN_BINDIR}/cairn")
endif()
set(CAIRN_CONFIG_FILE "${etc}/cairn/cairn.yaml")

# One staging directory per destination: installs may run side by side.
string(MD5 staging "$ENV{DESTDIR}|${prefix}")
set(staging "${CAIRN_BUILD}/install-${staging}")
configure_file("${CAIRN_SOURCE}/cairn.service.in" "${staging}/cairn.service" @ONLY)
file(INSTALL "${staging}/cairn.service" DESTINATION "${prefix}/lib/systemd/system")
file(REMOVE_RECURSE "${staging}")
file(INSTALL "${CAIRN_SOURCE}/sysusers.d/cairn.conf" DESTINATION "${prefix}/lib/sysusers.d")

if(EXISTS "$ENV{DESTDIR}${CAIRN_CONFIG_FILE}")
  message(STATUS "Keeping: $ENV{DESTDIR}${CAIRN_CONFIG_FILE} (the example goes beside it)")
  file(INSTALL "${CAIRN_BUILD}/cairn.yaml" DESTINATION "${etc}/cairn"
       RENAME cairn.yaml.example PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
else()
  file(INSTALL "${CAIRN_BUILD}/cairn.yaml" DESTINATION "${etc}/cairn"
       PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
endif()
