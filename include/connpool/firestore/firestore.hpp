// Everything of connpool's Firestore backend in one include.
#pragma once

#include "connpool/firestore/bulk_writer.hpp"
#include "connpool/firestore/client.hpp"
#include "connpool/firestore/connector.hpp"
#include "connpool/firestore/default_client.hpp"
#include "connpool/firestore/json.hpp"
#include "connpool/firestore/listener.hpp"
#include "connpool/firestore/options.hpp"
#include "connpool/firestore/path.hpp"
#include "connpool/firestore/query.hpp"
#include "connpool/firestore/value.hpp"
#include "connpool/firestore/write.hpp"
